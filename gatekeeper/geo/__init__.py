"""Where a visitor is (country, subdivision) and whether the address is anonymous, from
MaxMind DB files: `GeoReader` and `anonymous.AnonymousReader`, both `database.WatchedDatabase`."""

from .reader import GeoDatabaseError, GeoReader, Location

__all__ = ["GeoDatabaseError", "GeoReader", "Location"]
