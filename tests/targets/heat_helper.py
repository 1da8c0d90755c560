"""The second module of the heatmap target: holds its hottest line."""


def churn(n):
    total = 0
    for i in range(n):
        total += (i * i) % 7 + (i ^ 5) * 3 - (i >> 2) + (i & 12)  # @hot
    return total
