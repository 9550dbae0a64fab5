"""Move qualification documents and dispute evidence out of MEDIA_ROOT into the private storage.

Files uploaded before private files had their own storage lie in MEDIA_ROOT, where /media/
(or the web server) could serve them by path. The migration disputes.0002 runs this once;
run it again after restoring an old media backup: `python manage.py move_private_files`.
"""

from django.core.management.base import BaseCommand

from backend.core.storage import move_to_private, private_file_names


class Command(BaseCommand):
    help = "Move private files (qualification documents, dispute evidence) from MEDIA_ROOT to the private storage."

    def handle(self, *args, **options):
        moved = move_to_private(private_file_names())
        self.stdout.write(f"Moved {moved} private file(s) out of the public media storage.")
