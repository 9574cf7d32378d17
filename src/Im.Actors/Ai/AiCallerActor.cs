using Akka.Actor;
using Akka.Event;
using Im.Actors.Groups;
using Im.Actors.Storage;
using Im.Contracts;

namespace Im.Actors.Ai;

/// <summary>
/// Makes one AI call at a time: reads the group's recent messages, calls the service, then has
/// the GroupActor store the reply (which closes the record at 1), or closes the record at 2 with
/// the business code. The whole call is one task piped back, so the actor never blocks.
/// </summary>
public sealed class AiCallerActor : ReceiveActor
{
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly AiSettings _settings;
    private readonly ImStore _store;
    private readonly AiClient _client;
    private readonly IActorRef _groups;
    private readonly TimeSpan _askTimeout;
    private readonly ImMetrics _metrics;
    private AiCommands.Forward? _current;

    public AiCallerActor(AiSettings settings, ImStore store, AiClient client, IActorRef groups, TimeSpan askTimeout, ImMetrics metrics)
    {
        _settings = settings;
        _store = store;
        _client = client;
        _groups = groups;
        _askTimeout = askTimeout;
        _metrics = metrics;
        Receive<AiCommands.Forward>(Start);
        Receive<Done>(done =>
        {
            if (done.Failure is { } failure)
                _log.Warning("AI call for record {0} failed: {1}", done.Work.RecordId, failure);
            _current = null;
            Context.Parent.Tell(new Finished());
        });
    }

    public static Props Props(AiSettings settings, ImStore store, AiClient client, IActorRef groups, TimeSpan askTimeout, ImMetrics metrics) =>
        Akka.Actor.Props.Create(() => new AiCallerActor(settings, store, client, groups, askTimeout, metrics));

    private void Start(AiCommands.Forward work)
    {
        _current = work;
        Call(work).PipeTo(Self, success: failure => new Done(work, failure),
            failure: ex => new Done(work, $"{ErrorCodes.AiCallFailed}: {ex.GetType().Name}"));
    }

    // Returns the error message the record was closed with, or null on success.
    private async Task<string?> Call(AiCommands.Forward work)
    {
        string errorMessage;
        long? duration = null;
        try
        {
            var context = await _store.RecentMessages(work.GroupId, work.Seq, _settings.ContextMessages);
            var result = await _client.Complete(AiClient.BuildMessages(_settings.SystemPrompt, context, await ImageToShow(work, context)));
            duration = result.DurationMs;
            switch (result)
            {
                case AiCallResult.Answered answered:
                    var stored = await StoreReply(work, answered);
                    if (stored.Error is null)
                    {
                        _metrics.AiCallFinished(ImMetrics.Ok, TimeSpan.FromMilliseconds(answered.DurationMs));
                        return null;
                    }
                    errorMessage = $"{ErrorCodes.AiCallFailed}: the reply could not be stored ({stored.Error.Code})";
                    break;
                case AiCallResult.Failed failed:
                    errorMessage = failed.ErrorMessage;
                    break;
                default:
                    errorMessage = $"{ErrorCodes.AiCallFailed}: unexpected result";
                    break;
            }
        }
        catch (Exception ex)
        {
            errorMessage = $"{ErrorCodes.AiCallFailed}: {ex.GetType().Name}";
        }
        // Counted before the record is closed, so a store that is down does not hide the call's outcome.
        _metrics.AiCallFinished(errorMessage.Split(':', 2)[0], duration is { } ms ? TimeSpan.FromMilliseconds(ms) : null);
        await _store.FailRecord(work.RecordId, errorMessage, duration);
        return errorMessage;
    }

    private async Task<Outcome<MessageResponse>> StoreReply(AiCommands.Forward work, AiCallResult.Answered answered)
    {
        try
        {
            return await _groups.Ask<Outcome<MessageResponse>>(
                new GroupCommands.StoreAiReply(work.GroupId, work.RecordId, work.UserMessageId, answered.Content, answered.DurationMs),
                _askTimeout);
        }
        catch (AskTimeoutException)
        {
            _metrics.AskTimedOut();
            throw;
        }
    }

    /// <summary>The patient's image, when the triggering message is one and the model may see it (<c>Ai__Vision</c>).</summary>
    private async Task<VisionImage?> ImageToShow(AiCommands.Forward work, IReadOnlyList<MessageResponse> context)
    {
        if (!_settings.Vision || context.LastOrDefault() is not { Media: { } media } last || last.MessageId != work.UserMessageId) return null;
        return await _store.GetMediaBytes(media.MediaId) is { } bytes ? new VisionImage(last.MessageId, media.ContentType, bytes) : null;
    }

    protected override void PreRestart(Exception reason, object message)
    {
        // A crash mid-call must not leave the record open; the router hears Finished and moves on.
        if (_current is { } work)
        {
            _ = _store.FailRecord(work.RecordId, $"{ErrorCodes.AiCallFailed}: caller crashed", null);
            Context.Parent.Tell(new Finished());
        }
        base.PreRestart(reason, message);
    }

    public sealed record Finished : ILocalOnly;

    private sealed record Done(AiCommands.Forward Work, string? Failure) : ILocalOnly;
}
