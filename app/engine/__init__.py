"""The walkthrough engine: algorithm models, loading and checks, finding values, the walk.

Pure Python: nothing here imports FastAPI, Starlette or Jinja (a test enforces it).
"""
