from django.apps import AppConfig


class MembersConfig(AppConfig):
    name = "backend.members"
    label = "members"
    verbose_name = "Members: tiers and points"
