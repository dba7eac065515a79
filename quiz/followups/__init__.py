"""Follow-ups: follow-up, reminder and summary rules and contents, the bespreekkaart."""
