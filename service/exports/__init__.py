"""Exports of the register and of crisis work: files for spreadsheets and partner systems."""
