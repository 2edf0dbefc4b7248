"""`python -m suara_notification`: run the notification service."""

from suara_notification.handlers import build

if __name__ == "__main__":
    build().run()
