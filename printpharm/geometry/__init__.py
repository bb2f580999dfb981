"""Dosage-form templates, sizing to a deposited volume, meshes and STL."""
