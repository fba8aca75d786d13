"""app.generation"""
