"""Refuses listings without enough images, or with images smaller than the storefront needs."""

from __future__ import annotations

from backend.catalog.listing_checks import ListingContent, ListingProblem
from plugins.base import BasePlugin, ConfigField, ConfigType


class ImageCheckPlugin(BasePlugin):
    PLUGIN_ID = "listing.image_check"
    PLUGIN_NAME = "Image check"
    DESCRIPTION = "Requires at least a number of images, each at least a minimum size."
    DEFAULT_ACTIVE = True
    CONFIG_STRUCTURE = {
        "min_images": ConfigField(ConfigType.INTEGER, default=1, help_text="Images a listing needs."),
        "min_width": ConfigField(ConfigType.INTEGER, default=400, help_text="Smallest width in pixels."),
        "min_height": ConfigField(ConfigType.INTEGER, default=400, help_text="Smallest height in pixels."),
    }

    def check_listing(self, listing: ListingContent, *, previous_value):
        problems = list(previous_value)
        needed = int(self.get("min_images", 1))
        if len(listing.images) < needed:
            problems.append(
                ListingProblem(
                    code="IMAGE_REQUIRED",
                    message=f"A listing needs at least {needed} image{'s' if needed != 1 else ''}.",
                    field="media",
                )
            )
        min_width, min_height = int(self.get("min_width", 0)), int(self.get("min_height", 0))
        small = [image for image in listing.images if image.width < min_width or image.height < min_height]
        if small:
            problems.append(
                ListingProblem(
                    code="IMAGE_TOO_SMALL",
                    message=(
                        f"{len(small)} image{'s are' if len(small) != 1 else ' is'} smaller than "
                        f"{min_width}x{min_height} pixels."
                    ),
                    field="media",
                )
            )
        return problems
