"""Welfare checks: each worker's status in a crisis, and its history."""
