"""Tests of the delivery receipts pipeline."""
