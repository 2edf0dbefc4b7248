"""`python -m suara_mediation`: run the mediation-scheduling service."""

from suara_mediation.handlers import build

if __name__ == "__main__":
    build().run()
