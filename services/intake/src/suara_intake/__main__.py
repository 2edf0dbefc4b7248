"""`python -m suara_intake`: run the intake service."""

from suara_intake.handlers import build

if __name__ == "__main__":
    build().run()
