import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "filial.settings")
django_application = get_wsgi_application()

from filial.core.clientip import strip_untrusted_forwarding  # noqa: E402 - needs the settings loaded

application = strip_untrusted_forwarding(django_application)
