"""Paid services (the automation department's printing, lamination, scanning, vinyl work …): the catalogue,
customers by category, orders, and what brought a customer (a tracked short link, a promo code, a page)."""
