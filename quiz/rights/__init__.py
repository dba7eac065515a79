"""Participants' rights: Mijn quiz, unsubscribe (RFC 8058), export, erase, retention."""
