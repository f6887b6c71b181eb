"""Address tests, and the helpers they share: addresses a reader would type."""

PARIS = {
    "country_code": "FR",
    "full_name": "Ana Lima",
    "line1": "12 rue de Rivoli",
    "city": "Paris",
    "postal_code": "75008",
}
NEW_YORK = {
    "country_code": "US",
    "full_name": "Rosa Reader",
    "line1": "350 Fifth Avenue",
    "line2": "Floor 21",
    "city": "New York",
    "country_area": "NY",
    "postal_code": "10118",
}
LONDON = {
    "country_code": "GB",
    "full_name": "Tom Page",
    "line1": "221B Baker Street",
    "city": "London",
    "postal_code": "NW1 6XE",
}
