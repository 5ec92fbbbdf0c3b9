"""Talking to Fortnox: the API client, its errors, tokens and the shared rate limiter."""
