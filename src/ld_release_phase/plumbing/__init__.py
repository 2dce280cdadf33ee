"""Shared plumbing: text and naming, time, HTTP, retries, parsing inputs, and the API call."""
