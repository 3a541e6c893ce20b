"""holo.watch"""
