from django.apps import AppConfig


class SearchConfig(AppConfig):
    name = "backend.search"
    label = "search"
    verbose_name = "Search"
