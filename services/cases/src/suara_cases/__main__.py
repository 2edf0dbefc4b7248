"""`python -m suara_cases`: run the case-management service."""

from suara_cases.handlers import build

if __name__ == "__main__":
    build().run()
