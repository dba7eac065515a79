"""Answering: answer links and window, the first answer, link hits, how others answered, feedback."""
