"""Repeat questions (herhaalvragen): which questions come back after the week
and when, the repeat email, answering a repeat, and stopping the repeats."""
