import factory
from factory.django import DjangoModelFactory

from inventory.models import Product


class ProductFactory(DjangoModelFactory):
    class Meta:
        model = Product
        database = "inventory"

    sku = factory.Sequence(lambda n: f"SKU-{n:04d}")
    name = factory.Faker("word")
    unit_price = factory.Faker("pydecimal", left_digits=3, right_digits=2, positive=True, min_value=1)
    active = True
    stock_on_hand = 0

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        """Stock arrives through the service so the ledger records the receipt."""
        from inventory import services

        stock = kwargs.pop("stock_on_hand", 0)
        active = kwargs.pop("active", True)
        product = services.product_register(kwargs["sku"], kwargs["name"], kwargs["unit_price"], stock)
        if not active:
            model_class.objects.using("inventory").filter(pk=product.pk).update(active=False)
            product.refresh_from_db(using="inventory")
        return product
