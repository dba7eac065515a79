"""One blueprint per audience: signup (participants), devmail (developers)."""
