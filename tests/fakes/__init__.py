"""Small real HTTP servers standing in for remote APIs (Telegram Bot API, Slack Web API)."""
