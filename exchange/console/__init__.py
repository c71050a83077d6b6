"""The analyst console: the Forum's web interface for triage, release and exchange health."""
