"""The network's account of its pages for a period (annual, quarterly, monthly), written from the data."""
