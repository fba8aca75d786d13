"""app.rerank"""
