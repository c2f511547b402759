"""The student's door: ``grader check`` on a notebook (``checker``) with only
the released folder, whose ``check.toml`` and public suite ``public`` reads
and release writes."""
