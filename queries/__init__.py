"""holo.queries"""
