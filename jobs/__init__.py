"""Spark jobs of the nightly pipeline: raw logs -> Delta tables (never imports torch)."""
