"""app.index"""
