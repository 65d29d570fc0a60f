"""Benchmarks of ssenb against peer libraries; see README.md here."""
