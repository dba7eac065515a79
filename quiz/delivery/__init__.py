"""Delivery: working days, planning rules, the outbox, sending, building and rendering mail, DKIM, bounces."""
