from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReadersConfig(AppConfig):
    name = "filial.readers"
    label = "readers"
    verbose_name = _("Readers")

    def ready(self) -> None:
        from filial.inbox.privacy import register_eraser
        from filial.readers import dialogue, tasks  # noqa: F401  (tasks: so djhuey registers them in every process)
        from filial.readers.linking import erase_person_links

        # The readers' dialogue claims its words before the inbox (inbox/handlers.py) and tells a reader of a
        # renewal a librarian decided: registered here, not when a module happens to be imported.
        dialogue.register()
        register_eraser(erase_person_links)  # a person's erasure in the inbox forgets their links to a card
