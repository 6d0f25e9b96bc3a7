"""Tokens, roles and the one authorisation layer every route goes through."""
