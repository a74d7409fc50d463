package ai.natten.djl;

/** Whether something can be used, and if not, why (a sentence for a person). */
final class Availability {

    private static final Availability YES = new Availability(null);

    private final String reason;

    private Availability(String reason) {
        this.reason = reason;
    }

    /** Returns the available state. */
    static Availability available() {
        return YES;
    }

    /** Returns an unavailable state with its reason. */
    static Availability unavailable(String reason) {
        if (reason == null || reason.isEmpty()) {
            throw new IllegalArgumentException("reason must be given");
        }
        return new Availability(reason);
    }

    /** Returns whether it can be used. */
    boolean isAvailable() {
        return reason == null;
    }

    /** Returns why it cannot be used; null when it can. */
    String reason() {
        return reason;
    }

    @Override
    public String toString() {
        return isAvailable() ? "available" : "unavailable: " + reason;
    }
}
