"""Which zone a route falls into, from the region and zone tables."""

from __future__ import annotations

from dataclasses import dataclass

from backend.core.exceptions import DomainError

from .error_codes import LogisticsErrorCode
from .models import Region, RegionKind, Zone, ZoneAssignment


@dataclass(frozen=True)
class Route:
    origin: Region
    destination: Region
    zone: str | None  # None: the origin has no zone chart, or no zone for this destination
    remote: bool

    @property
    def origin_province(self) -> Region:
        return self.origin.province

    @property
    def destination_province(self) -> Region:
        return self.destination.province


def regions_by_code(codes: list[str]) -> dict[str, Region]:
    return {r.code: r for r in Region.objects.select_related("parent").filter(code__in=codes)}


def region_or_error(regions: dict[str, Region], code: str, field: str) -> Region:
    region = regions.get((code or "").strip())
    if region is None:
        raise DomainError(LogisticsErrorCode.UNKNOWN_REGION, f"No region with code {code!r}.", field=field)
    return region


def _same_city(origin: Region, destination: Region) -> bool:
    if origin.kind == RegionKind.MUNICIPALITY or destination.kind == RegionKind.MUNICIPALITY:
        # A municipality is one city: any two places in it are in the same city.
        return origin.province.pk == destination.province.pk
    return origin.kind == RegionKind.CITY and origin.pk == destination.pk


def route_lookup(origin_code: str, destination_code: str) -> Route:
    """Resolve both region codes and the zone between them; unknown codes are UNKNOWN_REGION."""
    regions = regions_by_code([origin_code, destination_code])
    origin = region_or_error(regions, origin_code, "origin")
    destination = region_or_error(regions, destination_code, "destination")
    remote = destination.is_remote or destination.province.is_remote
    if origin.province.pk == destination.province.pk:
        zone = Zone.SAME_CITY if _same_city(origin, destination) else Zone.SAME_PROVINCE
        return Route(origin, destination, zone.value, remote)
    assignment = (
        ZoneAssignment.objects.filter(origin=origin.province, destination=destination.province)
        .values_list("zone", flat=True)
        .first()
    )
    return Route(origin, destination, assignment, remote)
