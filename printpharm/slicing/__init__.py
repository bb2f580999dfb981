"""Layers, toolpaths, G-code writers and G-code analysis."""
