# Source file that the synthesized logs' markers point at (src/app.py),
# so reports over small.c7.log / small.c8.log print source lines.

cart = {}
def add_item(item, n):
    # the shared dict write that other transactions read
    cart[item] = cart.get(item, 0) + n

def total():
    s = 0
    for item in cart:
        s += cart[item]
    return s

import time
log = []
def log_request(req):
    log.append((time.time(), req))   # time.time(): becomes inevitable
