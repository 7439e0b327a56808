"""Where a visitor is: country and subdivision from a MaxMind DB file."""

from .reader import GeoDatabaseError, GeoReader, Location

__all__ = ["GeoDatabaseError", "GeoReader", "Location"]
