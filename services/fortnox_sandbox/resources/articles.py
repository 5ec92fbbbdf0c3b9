"""Articles and their prices.

Fortnox API reference (https://apps.fortnox.se/apidocs), Articles: ArticleNumber is a string of at most
50 characters (the
sandbox allows letters, digits and `-+/._`, what integrations restrict themselves to; "/" arrives
URL-encoded as %2F in paths); `SalesPrice` is read-only, the price on the company's default price
list; prices are written through `/3/prices/{PriceList}/{ArticleNumber}/{FromQuantity}`.
Fortnox developer docs, https://www.fortnox.se/developer/guides-and-good-to-know/errors: 2000359 invalid
characters; reported by existing integrations: 2000013 article number taken, 2000513 article not found,
2000342 price missing in the price list.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from services.fortnox_sandbox.errors import (
    ACCOUNT_NOT_FOUND,
    ARTICLE_NOT_FOUND,
    ARTICLE_NUMBER_TAKEN,
    BAD_PARAMETER,
    INVALID_CHARACTERS,
    PRICE_MISSING,
    FortnoxError,
    bad_request,
)
from services.fortnox_sandbox.fields import BLANK, as_bool, as_decimal, as_int, wrapped
from services.fortnox_sandbox.listing import Filter, exact, listing, page_of, substring
from services.fortnox_sandbox.routing import Call, Reply, Router
from services.fortnox_sandbox.state import Company, Resource

__all__ = ["register", "valid_article_number"]

_SPECIAL = set("-+/._")
_NUMBERS = ("PurchasePrice", "QuantityInStock", "StockWarning", "FreightCost", "OtherCost", "DirectCost", "VAT",
            "ReservedQuantity", "DisposableQuantity", "StockValue")
_INTS = ("SalesAccount", "PurchaseAccount", "EUAccount", "EUVATAccount", "ExportAccount", "ConstructionAccount",
         "StockAccount", "StockChangeAccount", "Depth", "Height", "Width", "Weight")
_ACCOUNTS = ("SalesAccount", "PurchaseAccount", "EUAccount", "EUVATAccount", "ExportAccount")
_BOOLS = ("Active", "Bulky", "Expired", "Housework", "StockGoods", "WebshopArticle")
_READ_ONLY = ("@url", "SalesPrice", "DisposableQuantity", "ReservedQuantity", "StockValue")
_FILTERS: dict[str, Filter] = {
    "articlenumber": substring("ArticleNumber"), "description": substring("Description"), "ean": substring("EAN"),
    "suppliernumber": exact("SupplierNumber"), "manufacturer": substring("Manufacturer"),
    "manufacturerarticlenumber": substring("ManufacturerArticleNumber"), "webshop": exact("WebshopArticle"),
}
# The list schema types these as strings (fortnox_ArticleListItem).
_LIST_TEXT = ("DisposableQuantity", "PurchasePrice", "ReservedQuantity", "SalesPrice", "StockValue", "VAT")
_LIST_FIELDS = ("@url", "ArticleNumber", "Description", "DisposableQuantity", "EAN", "Housework", "PurchasePrice",
                "QuantityInStock", "ReservedQuantity", "SalesPrice", "StockPlace", "StockValue", "Unit", "VAT",
                "WebshopArticle")


def valid_article_number(number: str) -> None:
    if len(number) > 50:
        raise bad_request("Artikelnumret får vara högst 50 tecken", INVALID_CHARACTERS)
    if not number or any(not (ch.isalnum() or ch in _SPECIAL) for ch in number):
        raise bad_request(f"Artikelnumret {number!r} innehåller ogiltiga tecken", INVALID_CHARACTERS)


def _default_price_list(company: Company) -> str:
    for code, price_list in company.table("pricelists").items():
        if price_list.get("PreSelected"):
            return code
    return "A"


def _shown(call: Call, article: Resource) -> Resource:
    price = call.company.get("prices", _price_key(_default_price_list(call.company), article["ArticleNumber"], "0"))
    return {**article, "SalesPrice": price["Price"] if price else Decimal(0)}


def _apply(company: Company, article: Resource, given: dict[str, Any]) -> None:
    for name, value in given.items():
        if name in _READ_ONLY or name == "ArticleNumber":
            continue
        if name in _NUMBERS:
            article[name] = as_decimal(value, name)
        elif name in _INTS:
            article[name] = as_int(value, name) if value not in (None, "", BLANK) else 0
        elif name in _BOOLS:
            article[name] = as_bool(value, name)
        else:
            article[name] = "" if value in (None, BLANK) else value
    for name in _ACCOUNTS:
        if article.get(name) and company.get("accounts", str(article[name])) is None:
            raise bad_request(f"Kontot {article[name]} hittades inte", ACCOUNT_NOT_FOUND)


def _save(call: Call, article: Resource) -> Resource:
    article["@url"] = f"{call.sandbox.settings.public_url}/3/articles/{article['ArticleNumber']}"
    return call.company.put("articles", article["ArticleNumber"], article)


def _find(call: Call, number: str) -> Resource:
    article = call.company.get("articles", number)
    if article is None:
        raise FortnoxError(404, f"Kan inte hitta artikeln {number}", ARTICLE_NOT_FOUND)
    return article


def create(call: Call) -> Reply:
    given = wrapped(call.body, "Article")
    number = given.get("ArticleNumber")
    if number in (None, ""):
        number = str(call.company.next_number("articles"))
    number = str(number)
    valid_article_number(number)
    if call.company.get("articles", number) is not None:
        raise bad_request(f"Artikelnummer {number} används redan", ARTICLE_NUMBER_TAKEN)
    article: Resource = {
        "ArticleNumber": number, "Description": "", "Active": True, "StockGoods": False, "WebshopArticle": False,
        "Housework": False, "Expired": False, "Bulky": False, "QuantityInStock": Decimal(0),
        "ReservedQuantity": Decimal(0), "DisposableQuantity": Decimal(0), "PurchasePrice": Decimal(0),
        "StockValue": Decimal(0), "Unit": "", "EAN": "", "VAT": Decimal(25), "Type": "STOCK",
        "SalesAccount": 3001, "Manufacturer": "", "StockPlace": "", "Note": "",
    }
    _apply(call.company, article, given)
    if not article["Description"]:
        raise bad_request("Artikeln måste ha en benämning (Description)", BAD_PARAMETER)
    article["DisposableQuantity"] = article["QuantityInStock"] - article["ReservedQuantity"]
    return 201, {"Article": _shown(call, _save(call, article))}


def get(call: Call) -> Reply:
    return 200, {"Article": _shown(call, _find(call, call.params["ArticleNumber"]))}


def update(call: Call) -> Reply:
    article = dict(_find(call, call.params["ArticleNumber"]))
    _apply(call.company, article, wrapped(call.body, "Article"))
    article["DisposableQuantity"] = article["QuantityInStock"] - article["ReservedQuantity"]
    return 200, {"Article": _shown(call, _save(call, article))}


def delete(call: Call) -> Reply:
    number = call.params["ArticleNumber"]
    _find(call, number)
    call.company.delete("articles", number)
    for key in [k for k, p in call.company.table("prices").items() if p["ArticleNumber"] == number]:
        call.company.delete("prices", key)
    return 204, {}


def list_all(call: Call) -> Reply:
    status = call.query.get("filter")
    extra = None
    if status in ("active", "inactive"):
        extra = (lambda a: bool(a.get("Active"))) if status == "active" else (lambda a: not a.get("Active"))
    elif status:
        raise bad_request(f"Ogiltigt filter: {status}", BAD_PARAMETER)
    found, meta = listing(call.company, "articles", call.query, _FILTERS, extra=extra)
    items = []
    for article in found:
        shown = _shown(call, article)
        items.append({n: (str(shown[n]) if n in _LIST_TEXT else shown[n]) for n in _LIST_FIELDS if n in shown})
    return 200, {"MetaInformation": meta, "Articles": items}


def _price_key(price_list: str, article: str, from_quantity: str) -> str:
    return f"{price_list}/{article}/{as_decimal(from_quantity, 'FromQuantity').normalize():f}"


def _price_target(call: Call, given: dict[str, Any]) -> tuple[str, str, Decimal]:
    price_list = str(call.params.get("PriceList") or given.get("PriceList") or "")
    article = str(call.params.get("ArticleNumber") or given.get("ArticleNumber") or "")
    quantity = as_decimal(call.params.get("FromQuantity", given.get("FromQuantity", 0)), "FromQuantity")
    if call.company.get("pricelists", price_list) is None:
        raise bad_request(f"Prislistan {price_list!r} finns inte", BAD_PARAMETER)
    if call.company.get("articles", article) is None:
        raise FortnoxError(404, f"Kan inte hitta artikeln {article}", ARTICLE_NOT_FOUND)
    return price_list, article, quantity


def _price_body(call: Call, price_list: str, article: str, quantity: Decimal, given: dict[str, Any],
                old: Resource | None) -> Resource:
    url = f"{call.sandbox.settings.public_url}/3/prices/{price_list}/{article}/{quantity.normalize():f}"
    body: Resource = dict(old) if old else {"Date": "", "Percent": Decimal(0)}
    body.update({"@url": url, "ArticleNumber": article, "PriceList": price_list, "FromQuantity": quantity})
    body["Price"] = as_decimal(given.get("Price", (old or {}).get("Price")), "Price")
    if "Percent" in given:
        body["Percent"] = as_decimal(given["Percent"], "Percent")
    return body


def price_create(call: Call) -> Reply:
    given = wrapped(call.body, "Price")
    price_list, article, quantity = _price_target(call, given)
    key = _price_key(price_list, article, str(quantity))
    if call.company.get("prices", key) is not None:
        raise bad_request(f"Priset finns redan i prislistan {price_list}", BAD_PARAMETER)
    body = _price_body(call, price_list, article, quantity, given, None)
    return 201, {"Price": call.company.put("prices", key, body)}


def _existing_price(call: Call) -> tuple[str, Resource, tuple[str, str, Decimal]]:
    target = _price_target(call, {})
    key = _price_key(target[0], target[1], str(target[2]))
    price = call.company.get("prices", key)
    if price is None:
        raise FortnoxError(404, f"Priset saknas i prislistan {target[0]}", PRICE_MISSING)
    return key, price, target


def price_get(call: Call) -> Reply:
    return 200, {"Price": _existing_price(call)[1]}


def price_update(call: Call) -> Reply:
    key, price, (price_list, article, quantity) = _existing_price(call)
    body = _price_body(call, price_list, article, quantity, wrapped(call.body, "Price"), price)
    return 200, {"Price": call.company.put("prices", key, body)}


def price_delete(call: Call) -> Reply:
    call.company.delete("prices", _existing_price(call)[0])
    return 204, {}


def price_sublist(call: Call) -> Reply:
    price_list, article, _ = _price_target(call, {})
    found = [p for p in call.company.table("prices").values()
             if p["PriceList"] == price_list and p["ArticleNumber"] == article]
    page, meta = page_of(sorted(found, key=lambda p: p["FromQuantity"]), call.query)
    items = [{n: p[n] for n in ("@url", "ArticleNumber", "FromQuantity", "Price", "PriceList")} for p in page]
    return 200, {"MetaInformation": meta, "Prices": items}


def register(router: Router) -> None:
    router.add("GET", "/3/articles", "article", list_all, response="fortnox_ArticleListItem_List")
    router.add("POST", "/3/articles", "article", create, request="fortnox_Article_Wrap",
               response="fortnox_Article_Wrap")
    one = "/3/articles/{ArticleNumber}"
    router.add("GET", one, "article", get, response="fortnox_Article_Wrap")
    router.add("PUT", one, "article", update, request="fortnox_Article_Wrap", response="fortnox_Article_Wrap")
    router.add("DELETE", one, "article", delete)
    router.add("POST", "/3/prices", "price", price_create, request="fortnox_Price_Wrap", response="fortnox_Price_Wrap")
    router.add("GET", "/3/prices/sublist/{PriceList}/{ArticleNumber}", "price", price_sublist,
               response="fortnox_PriceListItem_List")
    for path in ("/3/prices/{PriceList}/{ArticleNumber}", "/3/prices/{PriceList}/{ArticleNumber}/{FromQuantity}"):
        router.add("GET", path, "price", price_get, response="fortnox_Price_Wrap")
        router.add("PUT", path, "price", price_update, request="fortnox_Price_Wrap", response="fortnox_Price_Wrap")
    router.add("DELETE", "/3/prices/{PriceList}/{ArticleNumber}/{FromQuantity}", "price", price_delete)
