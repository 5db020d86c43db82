"""Lambda handlers of the library's custom resources (they run in AWS Lambda, not at synth)."""
