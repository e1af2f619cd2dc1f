"""Tests of the notifications pipeline."""
