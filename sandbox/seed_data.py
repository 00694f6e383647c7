"""Small built-in tables of plausible Mexican merchants, customers and products.

Not Faker: Faker's output for a given seed changes between its releases, which would break
the promise that one `--seed-random` always yields the same data set.
"""

from __future__ import annotations

SHOPS = (
    "Tienda La Esperanza",
    "Farmacia San Rafael",
    "Colegio Benito Juárez",
    "Ferretería El Martillo",
    "Café de Olla",
    "Mueblería Hogar Feliz",
    "Óptica Visión Clara",
    "Gimnasio Fuerza Norte",
)
FIRST_NAMES = (
    "María", "José", "Juan", "Guadalupe", "Luis", "Ana", "Carlos", "Fernanda", "Jorge",
    "Sofía", "Miguel", "Daniela", "Alejandro", "Valeria", "Ricardo", "Camila", "Francisco",
    "Mariana", "Eduardo", "Ximena",
)  # fmt: skip
SURNAMES = (
    "Hernández", "García", "Martínez", "López", "González", "Pérez", "Rodríguez", "Sánchez",
    "Ramírez", "Cruz", "Flores", "Gómez", "Morales", "Vázquez", "Reyes", "Jiménez", "Torres",
    "Díaz", "Gutiérrez", "Ruiz",
)  # fmt: skip
# (city, state, first two digits of its postal codes, phone area code)
CITIES = (
    ("Ciudad de México", "CDMX", "06", "55"),
    ("Guadalajara", "Jalisco", "44", "33"),
    ("Monterrey", "Nuevo León", "64", "81"),
    ("Puebla", "Puebla", "72", "222"),
    ("Querétaro", "Querétaro", "76", "442"),
    ("Mérida", "Yucatán", "97", "999"),
    ("Tijuana", "Baja California", "22", "664"),
    ("León", "Guanajuato", "37", "477"),
    ("Oaxaca de Juárez", "Oaxaca", "68", "951"),
    ("Cancún", "Quintana Roo", "77", "998"),
)
STREETS = (
    "Av. Insurgentes Sur", "Calle Francisco I. Madero", "Paseo de la Reforma", "Calle Hidalgo",
    "Av. Benito Juárez", "Calle Morelos", "Av. Universidad", "Calle 5 de Mayo",
    "Av. Revolución", "Calle Allende",
)  # fmt: skip
NEIGHBOURHOODS = (
    "Centro", "Del Valle", "Roma Norte", "Americana", "Obispado", "La Paz", "Jardines",
    "San Benito", "Zona Hotelera", "Los Pinos",
)  # fmt: skip
EMAIL_DOMAINS = ("gmail.com", "hotmail.com", "outlook.com", "yahoo.com.mx", "prodigy.net.mx")
PRODUCTS = (
    "Suscripción mensual",
    "Colegiatura de marzo",
    "Renta de equipo",
    "Servicio de mantenimiento",
    "Pedido en línea",
    "Consulta médica",
    "Anticipo de mueble",
    "Lentes graduados",
    "Inscripción al gimnasio",
    "Paquete de café de especialidad",
)
