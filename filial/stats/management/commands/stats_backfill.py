"""filial stats_backfill --from YYYY-MM-DD [--to YYYY-MM-DD] [--page ID ...] — past days' audience of the pages whose
network keeps that history (VK); ``filial stats_backfill --collect`` runs today's round of every page now."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from filial.channels.models import Channel
from filial.core.params import BadParameter, parse_day
from filial.networks.statistics import keeps_history
from filial.stats import collect


class Command(BaseCommand):
    help = ("Statistics: write the pages' past days where the network keeps them (VK community statistics); "
            "with --collect, take today's figures of every page now (publishing still goes first).")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--from", dest="start", help="first day, YYYY-MM-DD")
        parser.add_argument("--to", dest="end", help="last day, YYYY-MM-DD (default: today)")
        parser.add_argument("--page", type=int, action="append", help="a page's id (repeatable; default: all)")
        parser.add_argument("--collect", action="store_true", help="run today's round of the pages now")

    def handle(self, *args: Any, **options: Any) -> None:
        pages = Channel.objects.filter(status=Channel.Status.ACTIVE).select_related("unit", "unit__system")
        if options["page"]:
            pages = pages.filter(pk__in=options["page"])
            if pages.count() != len(set(options["page"])):
                raise CommandError("no such active page: " + ", ".join(map(str, options["page"])))
        if options["collect"]:
            for channel in pages.order_by("pk"):
                outcome = collect.collect_page(channel)
                self.stdout.write(f"{channel.pk} {channel.name}: {outcome.outcome} {outcome.reason}".rstrip())
            return
        if not options["start"]:
            raise CommandError("give --from YYYY-MM-DD (or --collect)")
        try:
            start = parse_day(options["start"], "from")
            end = parse_day(options["end"], "to") if options["end"] else timezone.localdate()
        except BadParameter as exc:
            raise CommandError(str(exc)) from exc
        failed = 0
        for channel in pages.order_by("pk"):
            if not keeps_history(channel.network):
                self.stdout.write(f"{channel.pk} {channel.name}: skipped, its network keeps no daily history")
                continue
            try:
                written = collect.backfill(None, channel, start, end)
            except Exception as exc:  # one page's failure (a refusal, the network) does not stop the others
                failed += 1
                self.stdout.write(f"{channel.pk} {channel.name}: failed: {exc}")
                continue
            self.stdout.write(f"{channel.pk} {channel.name}: {written} days written")
        if failed:
            raise CommandError(f"{failed} page(s) failed")
