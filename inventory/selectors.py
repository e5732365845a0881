"""Read-only queries on the inventory database."""

from decimal import Decimal

from django.db.models import QuerySet

from inventory.models import Product, Reservation

ALIAS = "inventory"


def product_get(sku: str) -> Product | None:
    """The product with this SKU, or None."""
    return Product.objects.using(ALIAS).filter(sku=sku).first()


def product_list(active_only: bool = True) -> QuerySet[Product]:
    """Products by SKU, only those for sale unless told otherwise."""
    products = Product.objects.using(ALIAS).order_by("sku")
    return products.filter(active=True) if active_only else products


def product_price(sku: str) -> Decimal | None:
    """The unit price of a product, or None when there is no such product."""
    return Product.objects.using(ALIAS).filter(sku=sku).values_list("unit_price", flat=True).first()


def reservations_for_order(order_id: str) -> QuerySet[Reservation]:
    """Every reservation made for an order."""
    return Reservation.objects.using(ALIAS).filter(order_id=order_id).select_related("product")
