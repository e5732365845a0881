"""Output shape of the product API."""

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers


class ProductOutput(serializers.Serializer):
    sku = serializers.CharField()
    name = serializers.CharField()
    unit_price = serializers.DecimalField(max_digits=12, decimal_places=2)
    stock_available = serializers.IntegerField(source="stock_on_hand", help_text=_("Units free to order now."))
