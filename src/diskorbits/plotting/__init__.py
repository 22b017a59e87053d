"""Figures in the style of the papers, one module per method (matplotlib, Agg backend)."""
